"""DED: data-efficient distillation of reasoning, as a library the workflow's rules call.

Modules are pure: they take data or paths and return data, and know nothing of
Snakemake. Heavy GPU packages are imported only inside the backend that needs
them.
"""

__version__ = "0.1.0"
