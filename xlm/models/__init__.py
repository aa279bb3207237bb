"""Model families, one folder each: configuration, modeling and tokenization of that family."""
