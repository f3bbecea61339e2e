"""The chat's use cases: plain functions that take their collaborators as arguments.

They know nothing of Lambda events or boto3: the handler extracts what they need, and the tests
pass small fakes for the store and the sender. One module per group of routes, imported by the
handler on its routes' first event, so that a cold start loads what its first event needs and
nothing else (``docs/performance.md``, "Cold start"):

- ``connect``: ``$connect``, admitting a connection or refusing its handshake;
- ``replies``: ``ping``, ``$default``, and the error frame of any rejected action: answers to
  the sender alone;
- ``rooms``: ``$disconnect``, ``sendmessage``, ``history``, ``join``, ``members``: what reads a
  room, its history or tells its members;
- ``changes``: ``editmessage``, ``deletemessage``, ``react``, ``typing``, ``changes``: what
  changes a stored message, says who is typing, or catches up on every change;
- ``admission``: what every action after ``$connect`` passes first (the sender's budgets).
"""
