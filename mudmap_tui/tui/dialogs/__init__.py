"""Modal dialogs and forms: each is a ModalScreen that returns its result through dismiss().

The checks and the planning behind them live in core modules (form_checks, interface_params,
wg_plan, wg_client_config, qr), so these screens only lay out fields and show messages.
"""
