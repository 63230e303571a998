"""The PostgreSQL backend's stores; the public names are in :mod:`kieframe.postgres`.

Optional (``pip install "kieframe[postgres]"``, psycopg 3); psycopg is imported only when a
store first talks to the database.
"""
