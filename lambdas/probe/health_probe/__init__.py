"""Health probe of the RudderStack data plane: GET /health, publish CloudWatch metrics.

Shipped at the root of the probe Lambda's zip next to ``handler.py``; imports inside the
package are relative so it works both zipped and from the test suite.
"""
