"""Use-case services: what each screen asks for and does, without Qt.

One module per screen. A service owns its sessions, the actor, clock and region; it
returns plain frozen data and turns failures into one :class:`~.result.Outcome` type, so
a widget never holds a session or ``AppServices``. Services publish the topics they
changed on a :class:`~.events.ChangeBus`; :class:`~.live.ChangeWatcher` publishes the
topics other writers (another desktop, the agent, a command) changed.
"""
