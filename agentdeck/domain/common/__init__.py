"""What every context uses: tenant and role checks (`access`), input limits (`limits`), cursors
(`pagination`), metadata filters (`filters`), idempotency keys (`idempotency`) and the result
shapes shared by every context (`results`: an action's outcome, a page of a list)."""
