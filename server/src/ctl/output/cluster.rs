//! Output of `member list|add|remove|update|promote`.

use super::go_format::go_quote;
use super::json::{self, Json, ObjectBuilder};
use super::table::render_table;
use super::{Output, OutputFormat, PrintOptions, format_not_supported, protobuf};
use keel_engine::api::{Member, MemberResponse};

/// `member list`: `id, started|unstarted, name, peer-urls, client-urls,
/// is-learner` per member (ids in hex without padding); `-w table` draws
/// the same columns; `-w json` has numeric ids.
pub fn print_member_list(options: PrintOptions, response: &MemberResponse) -> Output {
    match options.format {
        OutputFormat::Simple => {
            let mut out = String::new();
            for row in member_rows(&response.members) {
                out.push_str(&row.join(", "));
                out.push('\n');
            }
            Output::stdout(out)
        }
        OutputFormat::Table => Output::stdout(render_table(
            &[
                "ID",
                "STATUS",
                "NAME",
                "PEER ADDRS",
                "CLIENT ADDRS",
                "IS LEARNER",
            ],
            &member_rows(&response.members),
        )),
        OutputFormat::Json => json_line(member_response_json(response)),
        OutputFormat::Protobuf => protobuf::member_list(response),
        other => format_not_supported(other),
    }
}

/// `member add NAME`: `Member <id> added to cluster <cluster-id>` (ids as
/// Go's `%16x`), a blank line, then the environment for starting the new
/// member — with Keel's `KEEL_*` names where etcdctl prints `ETCD_*`.
pub fn print_member_add(options: PrintOptions, name: &str, response: &MemberResponse) -> Output {
    match options.format {
        OutputFormat::Simple => Output::stdout(member_add_simple(name, response)),
        OutputFormat::Json => json_line(member_response_json(response)),
        other => format_not_supported(other),
    }
}

/// `member remove ID`: `Member <id> removed from cluster <cluster-id>`.
pub fn print_member_remove(options: PrintOptions, id: u64, response: &MemberResponse) -> Output {
    member_change(options, id, "removed from", response)
}

/// `member update ID`: `Member <id> updated in cluster <cluster-id>`.
pub fn print_member_update(options: PrintOptions, id: u64, response: &MemberResponse) -> Output {
    member_change(options, id, "updated in", response)
}

/// `member promote ID`: `Member <id> promoted in cluster <cluster-id>`.
pub fn print_member_promote(options: PrintOptions, id: u64, response: &MemberResponse) -> Output {
    member_change(options, id, "promoted in", response)
}

fn member_change(options: PrintOptions, id: u64, verb: &str, response: &MemberResponse) -> Output {
    match options.format {
        OutputFormat::Simple => Output::stdout(format!(
            "Member {id:16x} {verb} cluster {:16x}\n",
            response.header.cluster_id
        )),
        OutputFormat::Json => json_line(member_response_json(response)),
        other => format_not_supported(other),
    }
}

fn member_add_simple(name: &str, response: &MemberResponse) -> String {
    let new_id = response.member.as_ref().map_or(0, |member| member.id);
    let new_peer_urls = response
        .member
        .as_ref()
        .map(|member| member.peer_urls.join(","))
        .unwrap_or_default();
    let mut initial_cluster = Vec::new();
    for member in &response.members {
        let member_name = if member.id == new_id {
            name
        } else {
            member.name.as_str()
        };
        for url in &member.peer_urls {
            initial_cluster.push(format!("{member_name}={url}"));
        }
    }
    format!(
        "Member {new_id:16x} added to cluster {:16x}\n\nKEEL_NAME={}\nKEEL_INITIAL_CLUSTER={}\nKEEL_INITIAL_ADVERTISE_PEER_URLS={}\nKEEL_INITIAL_CLUSTER_STATE=\"existing\"\n",
        response.header.cluster_id,
        go_quote(name),
        go_quote(&initial_cluster.join(",")),
        go_quote(&new_peer_urls),
    )
}

fn member_rows(members: &[Member]) -> Vec<Vec<String>> {
    members
        .iter()
        .map(|member| {
            vec![
                format!("{:x}", member.id),
                if member.is_started() {
                    "started"
                } else {
                    "unstarted"
                }
                .to_string(),
                member.name.clone(),
                member.peer_urls.join(","),
                member.client_urls.join(","),
                member.is_learner.to_string(),
            ]
        })
        .collect()
}

/// `Member*Response`: header, member (add only), members.
pub fn member_response_json(response: &MemberResponse) -> Json {
    ObjectBuilder::new()
        .value("header", Some(json::header(&response.header)))
        .value("member", response.member.as_ref().map(json::member))
        .array(
            "members",
            response.members.iter().map(json::member).collect(),
        )
        .build()
}

fn json_line(value: Json) -> Output {
    let mut text = value.render();
    text.push('\n');
    Output::stdout(text)
}
