"""Alert router: turns SNS notifications into PagerDuty, Splunk On-Call and Slack deliveries.

The package is shipped at the root of the alert Lambda's zip next to ``handler.py``;
every import inside it is relative so it works both zipped and from the test suite.
"""
