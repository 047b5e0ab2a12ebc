"""What every context uses: tenant and role checks (`access`), input limits (`limits`), cursors
(`pagination`), metadata filters (`filters`) and idempotency keys (`idempotency`)."""
