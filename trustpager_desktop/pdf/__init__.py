"""PDF reports drawn with Qt's text engine (QTextDocument, QPdfWriter): no widgets, so the
window and the command line both print through them."""
