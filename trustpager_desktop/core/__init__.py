"""Qt-free rules: phone numbers, replies, consent, the outbound gateway, automations, inbox."""
