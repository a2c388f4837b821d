"""The encrypted gp3 StorageClass of the jobsdb volumes and the StatefulSet's volume claim template."""

from __future__ import annotations

from rudder_ha.topologies.eks.k8s.common import BACKEND, ZONE_KEY, Manifest, labels
from rudder_ha.topologies.eks.k8s.settings import WorkloadSettings

EBS_CSI_PROVISIONER = "ebs.csi.aws.com"
JOBSDB_VOLUME = "jobsdb"


def storage_class(settings: WorkloadSettings) -> Manifest:
    """gp3 through the EBS CSI driver, always encrypted, bound where the pod lands, kept on release.

    ``Retain``: a jobsdb volume holds accepted events that may not have been delivered yet; deleting
    a claim (by hand, or by removing the StatefulSet) must never destroy the EBS volume with them.
    ``WaitForFirstConsumer``: the volume is created in the zone the scheduler picked for the pod,
    so the zone spread decides where volumes live, not the other way round.
    """
    volume = settings.jobsdb_volume
    parameters = {"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"}
    if volume.kms_key_arn:
        parameters["kmsKeyId"] = volume.kms_key_arn
    if volume.iops is not None:
        parameters["iops"] = str(volume.iops)
    if volume.throughput_mibps is not None:
        parameters["throughput"] = str(volume.throughput_mibps)
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": volume.storage_class_name, "labels": labels("storage")},
        "provisioner": EBS_CSI_PROVISIONER,
        "parameters": parameters,
        "reclaimPolicy": "Retain",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
        "allowedTopologies": [{"matchLabelExpressions": [{"key": ZONE_KEY, "values": list(settings.zones)}]}],
    }


def jobsdb_claim_template(settings: WorkloadSettings) -> Manifest:
    """The StatefulSet's volumeClaimTemplate: one encrypted volume per backend pod (``jobsdb-<pod>``)."""
    return {
        "metadata": {"name": JOBSDB_VOLUME, "labels": labels(BACKEND)},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": settings.jobsdb_volume.storage_class_name,
            "resources": {"requests": {"storage": settings.jobsdb_volume.size}},
        },
    }
