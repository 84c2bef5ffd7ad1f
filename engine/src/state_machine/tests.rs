use super::*;
use crate::storage::disk::SimDisk;

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn member(id: u64, learner: bool) -> Member {
    Member {
        id,
        name: format!("m{id}"),
        peer_urls: vec![format!("http://127.0.0.1:{}", 2380 + id)],
        client_urls: vec![format!("http://127.0.0.1:{}", 2379 + id * 10)],
        is_learner: learner,
    }
}

fn boot(disk: &SimDisk, path: &str) -> StateMachine {
    let members = [member(1, false), member(2, false), member(3, false)];
    StateMachine::bootstrap(Arc::new(disk.clone()), Path::new(path), 77, &members).unwrap()
}

fn reopen(disk: &SimDisk, path: &str) -> StateMachine {
    StateMachine::open(Arc::new(disk.clone()), Path::new(path)).unwrap()
}

fn put(key: &str, value: &str) -> ProposalBody {
    ProposalBody::Client(Request::Put(PutRequest {
        key: b(key),
        value: b(value),
        ..PutRequest::default()
    }))
}

/// Applies `body` as the next entry (term 2) and returns its outcome.
fn apply(sm: &mut StateMachine, body: &ProposalBody) -> Result<Response, ApiError> {
    let index = sm.applied_index() + 1;
    let outcome = sm.apply(index, body, None).unwrap();
    sm.set_applied(index, 2);
    outcome
}

fn value(sm: &StateMachine, key: &str) -> Option<Bytes> {
    let request = Request::Range(RangeRequest {
        key: b(key),
        ..RangeRequest::default()
    });
    match sm.read(&request).unwrap() {
        Response::Range(r) => r.kvs.first().map(|kv| kv.value.clone()),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn bootstrap_records_members_configuration_and_cluster() {
    let disk = SimDisk::new(1);
    let sm = boot(&disk, "/a/db");
    assert_eq!((sm.applied_index(), sm.applied_term()), (1, 1));
    assert_eq!(sm.cluster_id(), 77);
    assert_eq!(sm.conf_state().voters, vec![1, 2, 3]);
    assert_eq!(sm.members().len(), 3);
    drop(sm);
    let sm = reopen(&disk, "/a/db");
    assert_eq!(sm.conf_state().voters, vec![1, 2, 3]);
    assert_eq!(sm.members()[1], member(2, false));
    let again = StateMachine::bootstrap(Arc::new(disk.clone()), Path::new("/a/db"), 77, &[]);
    assert!(
        again.is_err(),
        "bootstrapping over existing data is refused"
    );
}

#[test]
fn only_checkpointed_state_survives_a_reopen() {
    let disk = SimDisk::new(2);
    let mut sm = boot(&disk, "/a/db");
    apply(&mut sm, &put("k", "1")).unwrap();
    let checkpoint = sm.checkpoint().unwrap();
    assert_eq!(checkpoint.index, 2);
    apply(&mut sm, &put("k", "2")).unwrap();
    assert_eq!(value(&sm, "k"), Some(b("2")));
    drop(sm);
    let sm = reopen(&disk, "/a/db");
    assert_eq!(sm.applied_index(), 2, "the raft log replays entry 3");
    assert_eq!(value(&sm, "k"), Some(b("1")));
}

#[test]
fn membership_changes_are_checked_and_persisted() {
    let disk = SimDisk::new(3);
    let mut sm = boot(&disk, "/a/db");
    let learner = member(4, true);
    let add = ProposalBody::AddMember(learner.clone());
    assert_eq!(sm.check_membership_change(Some(&add)), Ok(()));
    let mut cs = sm.conf_state().clone();
    cs.learners.push(4);
    sm.apply_membership_change(2, Some(&add), cs.clone())
        .unwrap();
    sm.set_applied(2, 2);
    assert_eq!(
        sm.check_membership_change(Some(&add)),
        Err(ApiError::MemberExists)
    );
    let mut clash = member(9, false);
    clash.peer_urls = learner.peer_urls.clone();
    assert_eq!(
        sm.check_membership_change(Some(&ProposalBody::AddMember(clash))),
        Err(ApiError::PeerUrlExists)
    );
    assert_eq!(
        sm.check_membership_change(Some(&ProposalBody::PromoteMember(1))),
        Err(ApiError::MemberNotLearner)
    );
    let promote = ProposalBody::PromoteMember(4);
    assert_eq!(sm.check_membership_change(Some(&promote)), Ok(()));
    sm.apply_membership_change(3, Some(&promote), cs.clone())
        .unwrap();
    sm.set_applied(3, 2);
    let remove = ProposalBody::RemoveMember(2);
    sm.apply_membership_change(4, Some(&remove), cs).unwrap();
    sm.set_applied(4, 2);
    assert!(sm.is_removed(2));
    sm.checkpoint().unwrap();
    drop(sm);
    let sm = reopen(&disk, "/a/db");
    let ids: Vec<(u64, bool)> = sm.members().iter().map(|m| (m.id, m.is_learner)).collect();
    assert_eq!(ids, vec![(1, false), (3, false), (4, false)]);
    assert!(sm.is_removed(2));
    assert_eq!(
        sm.check_membership_change(Some(&ProposalBody::RemoveMember(2))),
        Err(ApiError::MemberNotFound)
    );
}

#[test]
fn nospace_refuses_puts_but_not_deletes() {
    let disk = SimDisk::new(4);
    let mut sm = boot(&disk, "/a/db");
    apply(&mut sm, &put("k", "1")).unwrap();
    let raise = ProposalBody::Client(Request::Alarm(AlarmRequest {
        action: AlarmAction::Activate,
        member_id: 1,
        alarm: AlarmType::NoSpace,
    }));
    apply(&mut sm, &raise).unwrap();
    assert!(sm.alarm_active(AlarmType::NoSpace));
    assert_eq!(apply(&mut sm, &put("k", "2")), Err(ApiError::NoSpace));
    let delete = ProposalBody::Client(Request::DeleteRange(DeleteRangeRequest {
        key: b("k"),
        ..DeleteRangeRequest::default()
    }));
    apply(&mut sm, &delete).unwrap();
    assert_eq!(value(&sm, "k"), None);
    sm.checkpoint().unwrap();
    let mut sm = {
        drop(sm);
        reopen(&disk, "/a/db")
    };
    assert!(
        sm.alarm_active(AlarmType::NoSpace),
        "alarms survive a restart"
    );
    let disarm = ProposalBody::Client(Request::Alarm(AlarmRequest {
        action: AlarmAction::Deactivate,
        member_id: 0,
        alarm: AlarmType::None,
    }));
    apply(&mut sm, &disarm).unwrap();
    apply(&mut sm, &put("k", "3")).unwrap();
    assert_eq!(value(&sm, "k"), Some(b("3")));
}

#[test]
fn publish_fills_in_name_and_client_urls() {
    let disk = SimDisk::new(5);
    let mut joining = member(1, false);
    joining.name.clear();
    joining.client_urls.clear();
    let mut sm =
        StateMachine::bootstrap(Arc::new(disk.clone()), Path::new("/db"), 1, &[joining]).unwrap();
    assert!(!sm.members()[0].is_started());
    apply(&mut sm, &ProposalBody::Publish(member(1, false))).unwrap();
    assert_eq!(sm.members()[0], member(1, false));
}

#[test]
fn a_snapshot_image_installs_elsewhere_with_the_same_state() {
    let disk = SimDisk::new(6);
    let mut leader = boot(&disk, "/leader/db");
    for i in 0..50 {
        apply(&mut leader, &put(&format!("k{i}"), &format!("v{i}"))).unwrap();
    }
    let checkpoint = leader.checkpoint().unwrap();
    let image = leader.export_image(checkpoint.index).unwrap();
    assert!(leader.export_image(checkpoint.index + 1).is_err());

    let other = SimDisk::new(7);
    let mut follower =
        StateMachine::open(Arc::new(other.clone()), Path::new("/follower/db")).unwrap();
    assert_eq!(follower.applied_index(), 0);
    let meta = follower.stage_image(&image).unwrap();
    assert_eq!((meta.index, meta.cluster_id), (checkpoint.index, 77));
    follower.promote_staged().unwrap();
    assert_eq!(follower.applied_index(), checkpoint.index);
    assert_eq!(follower.conf_state().voters, vec![1, 2, 3]);
    let hash = |sm: &StateMachine| match sm.read(&Request::HashKv(HashKvRequest::default())) {
        Ok(Response::HashKv(h)) => h.hash,
        other => panic!("{other:?}"),
    };
    assert_eq!(hash(&follower), hash(&leader));
    assert_eq!(value(&follower, "k42"), Some(b("v42")));
}

#[test]
fn a_damaged_image_is_refused_and_changes_nothing() {
    let disk = SimDisk::new(8);
    let mut leader = boot(&disk, "/leader/db");
    apply(&mut leader, &put("k", "v")).unwrap();
    let checkpoint = leader.checkpoint().unwrap();
    let image = leader.export_image(checkpoint.index).unwrap();
    let mut damaged = image.to_vec();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x40;
    let follower = boot(&disk, "/follower/db");
    assert!(matches!(
        follower.stage_image(&Bytes::from(damaged)),
        Err(NodeError::BadSnapshot(_))
    ));
    assert!(
        follower
            .stage_image(&image.slice(..image.len() - 1))
            .is_err()
    );
    assert!(!disk.exists(Path::new("/follower/db.snapshot")).unwrap());
    assert_eq!(follower.applied_index(), 1);
}

#[test]
fn an_interrupted_install_is_finished_or_discarded_by_the_raft_log() {
    let disk = SimDisk::new(9);
    let mut leader = boot(&disk, "/leader/db");
    apply(&mut leader, &put("k", "v")).unwrap();
    let checkpoint = leader.checkpoint().unwrap();
    let image = leader.export_image(checkpoint.index).unwrap();
    let shared: Arc<dyn Disk> = Arc::new(disk.clone());
    let path = Path::new("/f/db");

    // Crash after staging, before the raft log recorded the snapshot.
    let follower = StateMachine::open(Arc::clone(&shared), path).unwrap();
    follower.stage_image(&image).unwrap();
    drop(follower);
    StateMachine::recover_staged(&shared, path, 0).unwrap();
    assert_eq!(
        StateMachine::open(Arc::clone(&shared), path)
            .unwrap()
            .applied_index(),
        0
    );
    assert!(!disk.exists(Path::new("/f/db.snapshot")).unwrap());

    // Crash after the raft log recorded it, before the rename.
    let follower = StateMachine::open(Arc::clone(&shared), path).unwrap();
    follower.stage_image(&image).unwrap();
    drop(follower);
    StateMachine::recover_staged(&shared, path, checkpoint.index).unwrap();
    let follower = StateMachine::open(shared, path).unwrap();
    assert_eq!(follower.applied_index(), checkpoint.index);
    assert_eq!(value(&follower, "k"), Some(b("v")));
}

#[test]
fn a_defragmented_state_keeps_its_memtable_and_reopens_the_same() {
    let disk = SimDisk::new(9);
    let mut sm = boot(&disk, "/d/db");
    apply(&mut sm, &put("checkpointed", "1")).unwrap();
    sm.checkpoint().unwrap();
    let job = sm.defrag_job();
    apply(&mut sm, &put("in-memtable", "2")).unwrap();
    let copy = job.run().unwrap();
    assert!(matches!(
        sm.finish_defrag(copy),
        Ok(DefragOutcome::Replaced { .. })
    ));
    assert!(!disk.exists(Path::new("/d/db.defrag")).unwrap());
    assert_eq!(value(&sm, "checkpointed"), Some(b("1")));
    assert_eq!(value(&sm, "in-memtable"), Some(b("2")));
    sm.checkpoint().unwrap();
    let index = sm.applied_index();
    let sm = reopen(&disk, "/d/db");
    assert_eq!(sm.applied_index(), index);
    assert_eq!(value(&sm, "in-memtable"), Some(b("2")));
}

#[test]
fn a_copy_overtaken_by_a_checkpoint_is_dropped_and_a_leftover_removed_at_open() {
    let disk = SimDisk::new(10);
    let mut sm = boot(&disk, "/d/db");
    let job = sm.defrag_job();
    apply(&mut sm, &put("newer", "1")).unwrap();
    sm.checkpoint().unwrap();
    let copy = job.run().unwrap();
    assert!(disk.exists(Path::new("/d/db.defrag")).unwrap());
    assert_eq!(sm.finish_defrag(copy).unwrap(), DefragOutcome::Stale);
    assert!(!disk.exists(Path::new("/d/db.defrag")).unwrap());
    assert_eq!(value(&sm, "newer"), Some(b("1")));

    // A copy a crash left behind is removed when the state opens.
    drop(sm.defrag_job().run().unwrap());
    assert!(disk.exists(Path::new("/d/db.defrag")).unwrap());
    let sm = reopen(&disk, "/d/db");
    assert!(!disk.exists(Path::new("/d/db.defrag")).unwrap());
    assert_eq!(value(&sm, "newer"), Some(b("1")));
}

#[test]
fn while_corrupt_is_raised_only_alarms_apply() {
    let disk = SimDisk::new(9);
    let mut sm = boot(&disk, "/a/db");
    apply(&mut sm, &put("k", "before")).unwrap();
    let alarm = |action| {
        ProposalBody::Client(Request::Alarm(AlarmRequest {
            action,
            member_id: 2,
            alarm: AlarmType::Corrupt,
        }))
    };
    apply(&mut sm, &alarm(AlarmAction::Activate)).unwrap();
    assert!(sm.alarm_active(AlarmType::Corrupt));
    assert_eq!(apply(&mut sm, &put("k", "during")), Err(ApiError::Corrupt));
    let delete = ProposalBody::Client(Request::DeleteRange(DeleteRangeRequest {
        key: b("k"),
        ..DeleteRangeRequest::default()
    }));
    assert_eq!(apply(&mut sm, &delete), Err(ApiError::Corrupt));
    let grant = ProposalBody::Client(Request::LeaseGrant(LeaseGrantRequest {
        ttl_seconds: 10,
        id: 5,
    }));
    assert_eq!(apply(&mut sm, &grant), Err(ApiError::Corrupt));
    // Reads still answer, as etcd 3.4's do.
    assert_eq!(value(&sm, "k"), Some(b("before")));
    apply(&mut sm, &alarm(AlarmAction::Deactivate)).unwrap();
    apply(&mut sm, &put("k", "after")).unwrap();
    assert_eq!(value(&sm, "k"), Some(b("after")));
}

fn auth(request: AuthRequest) -> ProposalBody {
    ProposalBody::Client(Request::Auth(request))
}

fn auth_read(sm: &StateMachine, request: AuthRequest) -> Result<AuthAnswer, ApiError> {
    match sm.read(&Request::Auth(request))? {
        Response::Auth(a) => Ok(a.answer),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn users_and_roles_apply_survive_a_reopen_and_travel_in_snapshots() {
    let disk = SimDisk::new(9);
    let mut sm = boot(&disk, "/a/db");
    let changes = [
        AuthRequest::UserAdd {
            name: "root".into(),
            credential: Credential::Hash("h".into()),
        },
        AuthRequest::UserGrantRole {
            user: "root".into(),
            role: ROOT_ROLE.into(),
        },
        AuthRequest::RoleAdd { name: "r".into() },
        AuthRequest::RoleGrantPermission {
            name: "r".into(),
            perm: Permission {
                perm_type: PermissionType::Read,
                key: b("a"),
                range_end: b("b"),
            },
        },
        AuthRequest::Enable,
    ];
    for change in changes {
        apply(&mut sm, &auth(change)).unwrap();
    }
    // A refused change is an answer, not a fatal error, and changes nothing:
    // anonymous now that auth is on, then as root.
    let root = AuthInfo {
        user: "root".into(),
        revision: sm.auth().revision(),
    };
    let apply_as = |sm: &mut StateMachine, body: &ProposalBody, who: Option<&AuthInfo>| {
        let index = sm.applied_index() + 1;
        let outcome = sm.apply(index, body, who).unwrap();
        sm.set_applied(index, 2);
        outcome
    };
    let again = auth(AuthRequest::RoleAdd { name: "r".into() });
    assert_eq!(apply_as(&mut sm, &again, None), Err(ApiError::UserEmpty));
    assert_eq!(
        apply_as(&mut sm, &again, Some(&root)),
        Err(ApiError::RoleAlreadyExist)
    );
    // A plain password is refused at apply: only hashes are proposed.
    let plain = auth(AuthRequest::UserAdd {
        name: "u".into(),
        credential: Credential::Password("p".into()),
    });
    assert!(matches!(
        apply_as(&mut sm, &plain, Some(&root)),
        Err(ApiError::BadRequest(_))
    ));
    let expected = sm.auth().clone();
    assert!(expected.enabled());
    assert_eq!(expected.revision(), 4);
    let checkpoint = sm.checkpoint().unwrap();
    drop(sm);

    let sm = reopen(&disk, "/a/db");
    assert_eq!(sm.auth(), &expected);
    assert_eq!(
        auth_read(&sm, AuthRequest::RoleList),
        Ok(AuthAnswer::RoleNames(vec!["r".into()]))
    );

    let image = sm.export_image(checkpoint.index).unwrap();
    let other = SimDisk::new(10);
    let mut follower =
        StateMachine::open(Arc::new(other.clone()), Path::new("/follower/db")).unwrap();
    assert!(!follower.auth().enabled());
    follower.stage_image(&image).unwrap();
    follower.promote_staged().unwrap();
    assert_eq!(follower.auth(), &expected);
}
