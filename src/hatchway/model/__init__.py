"""The input vocabulary: Gateway API and core Kubernetes objects as frozen pydantic models.

Entry point: `hatchway.model.parse.parse_documents(docs) -> ParseResult` (snapshot + errors).
"""
