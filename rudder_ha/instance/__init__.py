"""What a data-plane instance runs, and the two ways it gets there.

Public seams: ``files.instance_files()`` (the manifest of ``ami/``: destination, mode, content),
``bundle.build_bundle()`` (the reproducible tarball fetched at boot), ``user_data.encoded_user_data()`` and
``user_data.instance_settings()`` (what the boot path writes), ``image_component.component_documents()``
(what the image pipeline bakes) and ``env_file.render_env_file()`` (the settings-file format both use).
A test proves both paths install the same files with the same modes.
"""
