"""Local development support: emulators, the function server and the API stand-in.

See ``local.services`` for starting and stopping them.
"""
