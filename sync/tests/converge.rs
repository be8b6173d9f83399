//! Convergence through encrypted snapshots: random adds, edits, deletes and
//! compactions on two or three devices, with exports to and imports from one
//! shared folder target in random orders, always end — once everyone has
//! exported and imported — with identical indexes (documents, chunks, search
//! results) holding exactly what last-writer-wins says: no document lost,
//! none resurrected.

mod common;

use common::{Device, fleet};
use hearth_store::{CompactionPolicy, Version};
use hearth_sync::Target;
use proptest::prelude::*;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
enum Op {
    Put { device: usize, doc: u8, content: u8 },
    Delete { device: usize, doc: u8 },
    Compact { device: usize },
    Export { device: usize },
    Import { device: usize },
}

fn ops(devices: usize) -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        4 => (0..devices, 0u8..5, 0u8..4).prop_map(|(device, doc, content)| Op::Put { device, doc, content }),
        2 => (0..devices, 0u8..5).prop_map(|(device, doc)| Op::Delete { device, doc }),
        1 => (0..devices).prop_map(|device| Op::Compact { device }),
        2 => (0..devices).prop_map(|device| Op::Export { device }),
        2 => (0..devices).prop_map(|device| Op::Import { device }),
    ];
    prop::collection::vec(op, 1..20)
}

fn run(devices: usize, ops: &[Op]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let target = Target::open(dir.path().join("snap").to_str().unwrap()).unwrap();
    let mut fleet: Vec<Device> = fleet(devices);
    let mut exported = vec![false; devices];
    // Every write that took effect: its version and the content it left.
    let mut writes: BTreeMap<u8, Vec<(Version, Option<u8>)>> = BTreeMap::new();
    for op in ops {
        match *op {
            Op::Put {
                device,
                doc,
                content,
            } => {
                let d = &mut fleet[device];
                d.put(doc, content);
                let v = d.index.version_of(&format!("doc-{doc}")).unwrap().clone();
                writes.entry(doc).or_default().push((v, Some(content)));
            }
            Op::Delete { device, doc } => {
                let d = &mut fleet[device];
                if d.delete(doc) {
                    let t = d.index.manifest().tombstones.last().unwrap().version();
                    writes.entry(doc).or_default().push((t, None));
                }
            }
            Op::Compact { device } => {
                fleet[device]
                    .index
                    .compact(&CompactionPolicy::default())
                    .unwrap();
            }
            Op::Export { device } => {
                fleet[device].export(&target).unwrap();
                exported[device] = true;
            }
            Op::Import { device } => {
                if exported.iter().any(|e| *e) {
                    fleet[device].import(&target).unwrap();
                }
            }
        }
    }
    for _ in 0..2 {
        for d in fleet.iter_mut() {
            d.export(&target).unwrap();
        }
        for d in fleet.iter_mut() {
            d.import(&target).unwrap();
        }
    }
    let expected: BTreeMap<String, String> = writes
        .iter()
        .filter_map(|(id, ws)| {
            let (_, last) = ws.iter().max_by(|a, b| a.0.cmp(&b.0))?;
            last.map(|c| (format!("doc-{id}"), format!("memo-{id}-{c}")))
        })
        .collect();
    let first = fleet[0].view();
    prop_assert_eq!(
        &first.0,
        &expected,
        "last writer wins, nothing lost or resurrected"
    );
    for d in &fleet[1..] {
        prop_assert_eq!(&d.view(), &first, "devices converge");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn two_devices_converge_through_snapshots(ops in ops(2)) {
        run(2, &ops)?;
    }

    #[test]
    fn three_devices_converge_through_snapshots(ops in ops(3)) {
        run(3, &ops)?;
    }
}
