"""Fine-tuning heads (placeholder until the QA / language-id / NER code lands)."""
