"""XLM (Lample & Conneau, 2019): configuration, models and heads, tokenizer."""
