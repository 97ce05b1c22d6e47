"""The conversation kernel: what flows in (`Inbound`) and out (`Reply`), typed button actions,
staff roles, the router and its Dispatcher, the handler's context, and the contract a messenger
implements (`channel.Channel`, `channel.Sender`). It knows no platform and no service."""
