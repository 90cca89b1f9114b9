"""Installation script for aalu_sk."""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r'__version__ = "([^"]+)"',
                    (HERE / "aalu_sk" / "__init__.py").read_text()).group(1)

setup(
    name="aalu_sk",
    version=VERSION,
    description=("Deep adversarial active learning with model uncertainty "
                 "(AALU) for scikit-learn, skorch and modAL"),
    long_description=(HERE / "README.md").read_text(),
    long_description_content_type="text/markdown",
    license="BSD-3-Clause",
    packages=find_packages(include=["aalu_sk", "aalu_sk.*"]),
    python_requires=">=3.9",
    install_requires=[
        "numpy>=1.23",
        "torch>=2.0",
        "torchvision>=0.15",
        # modAL's learners pass force_all_finite, which scikit-learn 1.8 removed.
        "scikit-learn>=1.6,<1.8",
        "skorch>=1.0",
        # With skorch>=1.0 pip resolves modAL-python 0.4.1 (0.4.2 pins skorch 0.9).
        "modAL-python>=0.4.1",
        "tqdm>=4.60",
        "matplotlib>=3.5",
        "pillow>=9.0",
        "scipy>=1.9",
    ],
    extras_require={
        "test": ["pytest>=7", "pandas>=1.5"],
        "docs": ["sphinx>=7", "sphinx-gallery>=0.15", "numpydoc>=1.6",
                 "pydata-sphinx-theme>=0.15", "sphinx-mathjax-offline>=0.0.2"],
        "bench": ["mlxtend>=0.22", "pandas>=1.5"],
        # aalu_sk.distributed: pool scoring with Ray Data, multi-worker
        # training with Ray Train. Nothing outside aalu_sk.distributed
        # imports Ray.
        "ray": ["ray[data,train]>=2.9"],
    },
    entry_points={"console_scripts": ["aalu-sk=aalu_sk.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Intended Audience :: Science/Research",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
