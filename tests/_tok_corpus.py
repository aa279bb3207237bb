"""Sentences for the tokenizer tests: XQuAD (en, de, es, zh) and hand-written ones in other XNLI languages.

The hand-written sentences are multiplied by a few variations (quotes, numbers with separators, upper case,
a question form) so that each language gets about fifty texts that exercise Moses' punctuation rules.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

XQUAD_LANGS = ("en", "de", "es", "zh")

HANDWRITTEN: dict[str, list[str]] = {
    "fr": [
        "L'homme qu'on voit là-bas n'est pas mon frère.",
        "Aujourd'hui, il fait beau à Paris ; demain, il pleuvra.",
        "C'est l'été : les enfants jouent dans le jardin.",
        "J'ai acheté 3,5 kg de pommes pour 12,40 €.",
        "Où est la gare ? Je ne la trouve pas !",
        "Le président a déclaré : « Nous ferons mieux. »",
        "Elle s'appelle Hélène et elle habite à Genève.",
        "Qu'est-ce que tu veux manger ce soir ?",
        "Les élèves n’ont pas compris l’exercice.",
        "Il y a 1 000 habitants dans ce village de montagne.",
        "M. Dupont est arrivé à 8 h 30 précises.",
        "Ça coûte cher, mais ça en vaut la peine...",
    ],
    "ru": [
        "Привет, мир! Как у тебя дела?",
        "Москва — столица России.",
        "Он сказал: «Я приду завтра».",
        "В 2019 году население города составило 1 250 000 человек.",
        "Ёлка стоит в углу комнаты.",
        "Мы читали книгу Л. Н. Толстого «Война и мир».",
        "Температура упала до −15 °C.",
        "Это стоит 3,5 тыс. рублей.",
        "Она работает в МГУ с 1998 г.",
        "Почему ты не позвонил вчера?",
        "Кошка спит на диване, а собака — на полу.",
        "Учёные открыли новый вид бабочек.",
    ],
    "ar": [
        "مرحبا بالعالم، كيف حالك؟",
        "ذهبت إلى المدرسة في الصباح.",
        "القاهرة هي عاصمة مصر.",
        "قال المعلم: «اقرأوا الدرس جيدا».",
        "يبلغ عدد سكان المدينة ١٢٠٠٠ نسمة.",
        "هل تحب القهوة أم الشاي؟",
        "اشتريت ثلاثة كتب بـ 45 دولارا.",
        "الطقس جميل اليوم، والسماء صافية.",
        "كتب الطالب رسالة إلى صديقه.",
        "تأسست الجامعة عام 1908م.",
        "لا أعرف ماذا أقول!",
        "سافرنا إلى دبي في الصيف الماضي.",
    ],
    "th": [
        "สวัสดีครับ ผมชื่อสมชาย",
        "วันนี้อากาศดีมาก",
        "กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย",
        "คุณชอบกินอาหารไทยไหม?",
        "ฉันไปโรงเรียนทุกวัน",
        "ราคา 1,250 บาท",
        'เขาพูดว่า "ไม่เป็นไร"',
        "ประเทศไทยมีประชากรประมาณ 70 ล้านคน",
        "แมวนอนอยู่บนโซฟา",
        "พรุ่งนี้เราจะไปเที่ยวทะเล",
        "ภาษาไทยมีวรรณยุกต์ห้าเสียง",
        "ขอบคุณมากครับ!",
    ],
    "hi": [
        "नमस्ते दुनिया। आप कैसे हैं?",
        "भारत की राजधानी नई दिल्ली है।",
        "मैंने कल एक किताब पढ़ी।",
        'उसने कहा, "मैं कल आऊँगा।"',
        "इस शहर की आबादी 12,50,000 है।",
        "क्या आप चाय पीना पसंद करते हैं?",
        "बच्चे पार्क में खेल रहे हैं।",
        "गंगा नदी बहुत पवित्र मानी जाती है।",
        "डॉ. शर्मा अस्पताल में काम करते हैं।",
        "आज मौसम बहुत अच्छा है!",
        "हमने 2020 में नया घर खरीदा।",
        "यह परीक्षा कठिन नहीं थी।",
    ],
    "el": [
        "Γεια σου, κόσμε! Τι κάνεις;",
        "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας.",
        "ΟΔΟΣ ΑΡΙΣΤΟΤΕΛΟΥΣ 12, ΘΕΣΣΑΛΟΝΙΚΗ",
        "Είπε: «Θα έρθω αύριο».",
        "Ο πληθυσμός είναι 3.150.000 κάτοικοι.",
        "Πού είναι ο σταθμός;",
        "Τα παιδιά παίζουν στην αυλή.",
        "Ο Σωκράτης ήταν φιλόσοφος.",
        "Η θερμοκρασία έφτασε τους 38,5 βαθμούς.",
        "Διάβασα το βιβλίο του Καζαντζάκη.",
        "Καλημέρα σας, κύριε Παπαδόπουλε.",
        "Το πλοίο αναχωρεί στις 9:30 π.μ.",
    ],
    "bg": [
        "Здравей, свят! Как си?",
        "София е столицата на България.",
        "Той каза: „Ще дойда утре“.",
        "Населението е 1 300 000 души.",
        "Къде е гарата?",
        "Децата играят в парка.",
        "Прочетох романа „Под игото“ от Иван Вазов.",
        "Цената е 12,50 лв.",
        "Времето днес е хубаво.",
        "Учителят обясни урока отново.",
        "Отидохме на море през юли.",
        "Благодаря ви много!",
    ],
    "tr": [
        "Merhaba dünya! Nasılsın?",
        "İstanbul, Türkiye'nin en büyük şehridir.",
        "Ankara'ya yarın gideceğim.",
        'Öğretmen: "Ödevinizi yapın" dedi.',
        "Şehrin nüfusu 15.460.000 kişidir.",
        "Çay mı kahve mi istersin?",
        "IŞIK ILGAZ DAĞI'NDA GÖRÜNDÜ.",
        "Çocuklar bahçede oynuyor.",
        "Fiyatı 12,75 TL'dir.",
        "Dr. Yılmaz hastanede çalışıyor.",
        "Bugün hava çok güzel.",
        "Kitabı okudun mu?",
    ],
    "vi": [
        "Xin chào thế giới! Bạn khỏe không?",
        "Hà Nội là thủ đô của Việt Nam.",
        "Tôi đã đọc cuốn sách đó hôm qua.",
        'Anh ấy nói: "Tôi sẽ đến vào ngày mai."',
        "Dân số thành phố là 8.993.000 người.",
        "Bạn có thích uống cà phê không?",
        "Trẻ em đang chơi trong công viên.",
        "Giá của nó là 150.000 đồng.",
        "Sông Mê Kông chảy qua nhiều quốc gia.",
        "Thời tiết hôm nay rất đẹp!",
        "Chúng tôi đi biển vào mùa hè.",
        "Cảm ơn bạn rất nhiều.",
    ],
    "ur": [
        "ہیلو دنیا! آپ کیسے ہیں؟",
        "پاکستان کا دارالحکومت اسلام آباد ہے۔",
        "میں نے کل ایک کتاب پڑھی۔",
        'اس نے کہا: "میں کل آؤں گا۔"',
        "شہر کی آبادی 1,20,00,000 ہے۔",
        "کیا آپ چائے پینا پسند کرتے ہیں؟",
        "بچے باغ میں کھیل رہے ہیں۔",
        "آج موسم بہت اچھا ہے!",
        "لاہور ایک تاریخی شہر ہے۔",
        "ہم نے 2018 میں نیا گھر خریدا۔",
        "یہ امتحان مشکل نہیں تھا۔",
        "آپ کا بہت شکریہ۔",
    ],
    "sw": [
        "Habari dunia! Habari yako?",
        "Nairobi ni mji mkuu wa Kenya.",
        "Nilisoma kitabu hicho jana.",
        'Alisema: "Nitakuja kesho."',
        "Idadi ya watu ni 4,397,073.",
        "Je, unapenda chai au kahawa?",
        "Watoto wanacheza uwanjani.",
        "Mlima Kilimanjaro ni mrefu sana.",
        "Bei yake ni shilingi 1,500.",
        "Hali ya hewa ni nzuri leo!",
        "Tulikwenda pwani mwezi Julai.",
        "Asante sana, rafiki yangu.",
    ],
}


def variants(sentence: str) -> list[str]:
    """The sentence and four variations of it that exercise punctuation, number and case rules."""
    return [
        sentence,
        f"“{sentence}”",
        f"{sentence} (1 234,5 km² ; 3.14 % ; 2023-10-05)",
        sentence.upper(),
        f"{sentence.rstrip('.!?。')}… ¿o no?",
    ]


def handwritten(lang: str) -> list[str]:
    return [v for sentence in HANDWRITTEN[lang] for v in variants(sentence)]


def xquad(data_dir: Path, lang: str) -> dict[str, list[str]]:
    """Questions, contexts and context sentences of XQuAD in ``lang``."""
    data = json.loads((data_dir / "xquad" / f"xquad.{lang}.json").read_text(encoding="utf-8"))
    contexts = [p["context"] for article in data["data"] for p in article["paragraphs"]]
    questions = [qa["question"] for article in data["data"] for p in article["paragraphs"] for qa in p["qas"]]
    splitter = re.compile(r"(?<=[。！？])|(?<=[.!?])\s+")
    sentences = [s.strip() for c in contexts for s in splitter.split(c) if s.strip()]
    return {"questions": questions, "contexts": contexts, "sentences": sentences}
