"""A rudder-server jobsdb in a test database, built per release, and rudder-server's notion of pending.

* :mod:`.releases`: the supported releases (v1.62.1, v1.83.0) and what each does to the jobsdb;
* :mod:`.builder`: migrations, dataset creation, writes, compaction with pre-drop, multi-consumer
  ``proc``, upgrades;
* :mod:`.warehouse`: the embedded warehouse's upload tables in the same database;
* :mod:`.reference`: rudder-server's own notion of pending work, to compare the drain check with;
* :mod:`.scenarios`: the scenarios of issue 13, per release;
* :mod:`.drain_check`: running ``ami/bin/rudder-drain-check`` as the instance does;
* :mod:`.verdicts`: a command printing the check's verdict on every scenario and release.

The simpler single-shape helpers of :mod:`tests.support.jobsdb` stay for the tests that use them.
"""
