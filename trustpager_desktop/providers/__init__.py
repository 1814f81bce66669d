"""SMS providers behind one small interface: twilio and sandbox."""
