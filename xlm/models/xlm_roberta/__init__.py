"""XLM-RoBERTa (base, large) and its pre-LayerNorm XL/XXL variant: configuration, models and heads, tokenizer."""
