"""Files and what is built on them: stored objects (`storage`), vector stores and search
(`vector_stores`, `ranking`), document ingestion (`ingest`) and code-interpreter containers
(`containers`)."""
