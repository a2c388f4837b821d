"""One parser per accepted message shape, each returning an :class:`~alert_router.model.Alert`."""
