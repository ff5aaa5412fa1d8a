"""NetBox as an input and an output: devices read through its REST API and screened into
the inventory (``pull``), findings written back as a tag and a custom field (``push``)."""
