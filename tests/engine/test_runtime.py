import subprocess
import sys


def test_offline_runtime_imports_torchvision_and_runs_nms():
    """torchvision's CUDA-built C ops don't load on CPU torch; configure_offline() must still leave a
    working torchvision::nms and offline ultralytics settings."""
    code = (
        "import os\n"
        "from tracking.runtime import configure_offline\n"
        "configure_offline()\n"
        "import torch, torchvision\n"
        "b = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], dtype=torch.float32)\n"
        "s = torch.tensor([0.9, 0.8, 0.7])\n"
        "print(torchvision.ops.nms(b, s, 0.5).tolist())\n"
        "print(os.environ['YOLO_OFFLINE'], os.environ['YOLO_AUTOINSTALL'])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[-2] == "[0, 2]"
    assert lines[-1] == "1 false"
