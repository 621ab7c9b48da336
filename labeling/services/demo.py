"""The demo project that the run command creates, so a new user has something to open."""

from labeling.models import LabelClass, Membership, Project, Role, ShapeKind

DEMO_PROJECT_NAME = "Demo project"

# COCO's 17 person keypoints, as the bundled pose model predicts them.
COCO_KEYPOINTS = [
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
]  # fmt: skip
COCO_SKELETON = [
    [15, 13], [13, 11], [16, 14], [14, 12], [11, 12], [5, 11], [6, 12], [5, 6], [5, 7],
    [6, 8], [7, 9], [8, 10], [1, 2], [0, 1], [0, 2], [1, 3], [2, 4], [3, 5], [4, 6],
]  # fmt: skip


def ensure_demo_project(owner) -> Project:
    project = Project.objects.filter(name=DEMO_PROJECT_NAME, memberships__user=owner).first()
    if project is None:
        project = Project.objects.create(
            name=DEMO_PROJECT_NAME,
            description="Upload a video, press Track, fix what the machine got wrong.",
            created_by=owner,
        )
        Membership.objects.create(user=owner, project=project, role=Role.OWNER)
        LabelClass.objects.create(project=project, name="person", color="#ff6b00", shape=ShapeKind.BOX)
        LabelClass.objects.create(
            project=project,
            name="person pose",
            color="#00a3ff",
            shape=ShapeKind.POINTS,
            skeleton={"keypoints": COCO_KEYPOINTS, "edges": COCO_SKELETON},
        )
        LabelClass.objects.create(project=project, name="car", color="#2ecc71", shape=ShapeKind.BOX)
    return project
