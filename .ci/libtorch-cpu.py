"""Unpacks a CPU-only libtorch from PyPI wheels into one folder.

PyPI's Linux torch wheel is built with CUDA and pulls ~3.5 GB of NVIDIA
libraries. On a machine without an NVIDIA GPU, atelier needs only the torch
wheel's headers and CPU libraries, plus the two small CUDA libraries that
libtorch_cpu.so links (cudart, cupti): about 1 GB unpacked instead of 4.7 GB.
The CUDA libraries of torch are left out, so tch links a CPU-only build.

    python3 libtorch-cpu.py WHEEL_DIR DEST VERSION
"""

import pathlib
import shutil
import sys
import zipfile

# libtorch_cpu.so's only CUDA dependencies; everything else CUDA stays out.
CUDA_RUNTIME = {"libcudart.so.13", "libcupti.so.13"}
TORCH_LIBS_LEFT_OUT = ("libtorch_cuda", "libc10_cuda", "libtorch_nvshmem",
                       "libcaffe2_nvrtc", "libtorch_python", "libshm")


def wanted(name: str):
    """Where a wheel member goes under DEST, or None to leave it out."""
    path = pathlib.PurePosixPath(name)
    parts = path.parts
    if parts[:2] == ("torch", "include"):
        return pathlib.Path(*parts[1:])
    if parts[:2] == ("torch", "lib") and len(parts) == 3:
        if parts[2].startswith(TORCH_LIBS_LEFT_OUT):
            return None
        return pathlib.Path("lib", parts[2])
    if path.name in CUDA_RUNTIME and "lib" in parts:
        return pathlib.Path("lib", path.name)
    return None


def main() -> int:
    wheels, dest, version = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
    staging = dest.with_name(dest.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    found = set()
    for wheel in sorted(wheels.glob("*.whl")):
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.infolist():
                target = wanted(member.filename)
                if target is None or member.is_dir():
                    continue
                out = staging / target
                out.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                found.add(out.name)
    missing = sorted((CUDA_RUNTIME | {"libtorch_cpu.so", "libc10.so", "torch.h"}) - found)
    if missing:
        print(f"error: {wheels}: the wheels lack {', '.join(missing)}", file=sys.stderr)
        return 1
    # torch-sys checks this file against the version tch was made for.
    (staging / "build-version").write_text(version + "\n")
    shutil.rmtree(dest, ignore_errors=True)
    staging.rename(dest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
