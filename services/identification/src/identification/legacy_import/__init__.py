"""Legacy import: an agency's historical export (CSV) loaded into the person index
through the same matching as live screenings (``nrm import FILE.csv --source SOURCE``).

- :mod:`.mapping`: each source's documented column mapping (``mappings/*.yaml``).
- :mod:`.reading`: the file read and each row checked, without touching the database.
- :mod:`.importing`: the rows matched and written in one transaction.
- :mod:`.command`: the ``nrm import`` sub-command.
"""
