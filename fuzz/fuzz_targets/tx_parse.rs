//! Transactions from peers and API clients: parsed against no principal and against each kind
//! of spawned principal. Never panics; what parses re-encodes to the bytes its signatures cover,
//! and its principal and nonce read alone (`nonce_of`, for block order) agree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spacemesh_core::account::{Address, Template};
use spacemesh_core::tx::{MultisigArgs, SpawnArgs, Spawned, VaultArgs, nonce_of, parse};
use spacemesh_core::types::LayerId;

fuzz_target!(|data: &[u8]| {
    let states = [
        Spawned { template: Template::Wallet, args: SpawnArgs::Wallet { public_key: [1; 32] } },
        Spawned {
            template: Template::Multisig,
            args: SpawnArgs::Multisig(MultisigArgs { required: 2, public_keys: vec![[2; 32]; 3] }),
        },
        Spawned {
            template: Template::Vesting,
            args: SpawnArgs::Multisig(MultisigArgs { required: 1, public_keys: vec![[3; 32]] }),
        },
        Spawned {
            template: Template::Vault,
            args: SpawnArgs::Vault(VaultArgs {
                owner: Address([0; 24]),
                total_amount: 10,
                initial_unlock_amount: 1,
                vesting_start: LayerId(1),
                vesting_end: LayerId(2),
            }),
        },
    ];
    for state in [None].into_iter().chain(states.iter().map(Some)) {
        if let Ok(tx) = parse(data, state) {
            assert_eq!(tx.body.encode(), &data[..tx.signed_len]);
            // Block building reads the same principal and nonce without the state.
            assert_eq!(nonce_of(data), Ok((tx.body.principal, tx.body.nonce)));
        }
    }
});
