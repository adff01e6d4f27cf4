"""Entry point of the child process that reads and validates a large export.

Run as ``python -m edge_agent.mirror.validate_child`` by
:func:`edge_agent.mirror.exports.validate_in_child`; a module of its own so that
the batches it pickles name ``edge_agent.mirror.exports.Batch``, not ``__main__``.
"""

from edge_agent.mirror.exports import child_main

if __name__ == "__main__":
    child_main()
