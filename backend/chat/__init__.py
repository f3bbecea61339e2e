"""awsome-chat's Lambda: a thin router over plain chat use cases."""
