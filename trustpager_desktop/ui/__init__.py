"""PySide6 windows, cards, dialogs and item models."""
