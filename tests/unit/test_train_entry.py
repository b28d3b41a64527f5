import subprocess
import sys


def test_llamafactory_imports_on_the_cpu_install():
    code = ("from ded.train.entry import ensure_torchaudio_importable; ensure_torchaudio_importable(); "
            "import llamafactory.train.tuner, llamafactory.data.mm_plugin; print('ok')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-2000:]
