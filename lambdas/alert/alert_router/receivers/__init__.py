"""One module per alert receiver; :mod:`.registry` says which ones are configured."""
