//! `keelctl completion bash|zsh|fish|powershell`: a completion script for
//! keelctl's whole command tree and its flags, generated from the clap
//! command by `clap_complete` (etcdctl's comes from cobra; the scripts
//! differ, the commands they offer are the same kind).

use super::cli::{Cli, CompletionCommand};
use clap::{Command, CommandFactory};
use clap_complete::{Shell, generate};

/// cobra's description of its `completion` command, with keelctl's name.
pub const COMPLETION_DESCRIPTION: &str =
    "Generate the autocompletion script for keelctl for the specified shell.
See each sub-command's help for details on how to use the generated script.";

/// How to use `completion bash`'s script. Unlike cobra's, it needs no
/// `bash-completion` package.
pub const BASH_DESCRIPTION: &str = "Generate the autocompletion script for the bash shell.

To load completions in your current shell session:

\tsource <(keelctl completion bash)

To load completions for every new session, execute once:

#### Linux:

\tkeelctl completion bash > /etc/bash_completion.d/keelctl

#### macOS:

\tkeelctl completion bash > $(brew --prefix)/etc/bash_completion.d/keelctl

You will need to start a new shell for this setup to take effect.";

/// How to use `completion zsh`'s script.
pub const ZSH_DESCRIPTION: &str = "Generate the autocompletion script for the zsh shell.

If shell completion is not already enabled in your environment you will need
to enable it.  You can execute the following once:

\techo \"autoload -U compinit; compinit\" >> ~/.zshrc

To load completions in your current shell session:

\tsource <(keelctl completion zsh); compdef _keelctl keelctl

To load completions for every new session, execute once:

#### Linux:

\tkeelctl completion zsh > \"${fpath[1]}/_keelctl\"

#### macOS:

\tkeelctl completion zsh > $(brew --prefix)/share/zsh/site-functions/_keelctl

You will need to start a new shell for this setup to take effect.";

/// How to use `completion fish`'s script.
pub const FISH_DESCRIPTION: &str = "Generate the autocompletion script for the fish shell.

To load completions in your current shell session:

\tkeelctl completion fish | source

To load completions for every new session, execute once:

\tkeelctl completion fish > ~/.config/fish/completions/keelctl.fish

You will need to start a new shell for this setup to take effect.";

/// How to use `completion powershell`'s script.
pub const POWERSHELL_DESCRIPTION: &str = "Generate the autocompletion script for powershell.

To load completions in your current shell session:

\tkeelctl completion powershell | Out-String | Invoke-Expression

To load completions for every new session, add the output of the above command
to your powershell profile.";

/// The completion script `command` asks for. `--no-descriptions` leaves
/// out the commands' and flags' descriptions (the zsh, fish and powershell
/// scripts show them; bash's never does).
pub fn script(command: &CompletionCommand) -> String {
    let (shell, args) = match command {
        CompletionCommand::Bash(args) => (Shell::Bash, args),
        CompletionCommand::Zsh(args) => (Shell::Zsh, args),
        CompletionCommand::Fish(args) => (Shell::Fish, args),
        CompletionCommand::Powershell(args) => (Shell::PowerShell, args),
    };
    let mut root = Cli::command();
    if args.no_descriptions {
        root = without_descriptions(root);
    }
    let mut out = Vec::new();
    generate(shell, &mut root, "keelctl", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// `command` and all below it without their descriptions.
fn without_descriptions(command: Command) -> Command {
    command
        .about(None)
        .long_about(None)
        .mut_args(|arg| arg.help(None).long_help(None))
        .mut_subcommands(without_descriptions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctl::cli::CompletionArgs;

    #[test]
    fn scripts_know_the_command_tree() {
        let bash = script(&CompletionCommand::Bash(CompletionArgs {
            no_descriptions: false,
            args: Vec::new(),
        }));
        assert!(bash.contains("_keelctl()"));
        assert!(bash.contains("keelctl__subcmd__member,list)"));
        assert!(bash.contains("--prev-kv"));
        let fish = script(&CompletionCommand::Fish(CompletionArgs {
            no_descriptions: false,
            args: Vec::new(),
        }));
        assert!(fish.contains("Lists all members in the cluster"));
        let bare = script(&CompletionCommand::Fish(CompletionArgs {
            no_descriptions: true,
            args: Vec::new(),
        }));
        assert!(!bare.contains("Lists all members in the cluster"));
        assert!(bare.contains("prev-kv"));
    }
}
