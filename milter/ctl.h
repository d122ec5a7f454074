/*
 * ctl.h -- smimectl subcommand handlers shared between its files.
 * Each takes the arguments after the subcommand words (argv[0] is the
 * last subcommand word) and returns an exit status (EX_USAGE for bad
 * arguments: the dispatcher prints the usage line).
 */
#ifndef SMIME_CTL_H
#define SMIME_CTL_H

struct config;

/* Parse "-c FILE" options; returns the index of the first operand or -1. */
int ctl_config_arg(int argc, char **argv, const char **path);

/* Load a configuration or print why not (NULL). */
struct config *ctl_load_config(const char *path);

int ctl_cert_lookup(int argc, char **argv);
int ctl_cert_list(int argc, char **argv);
int ctl_cert_import(int argc, char **argv);
int ctl_key_list(int argc, char **argv);
int ctl_verify(int argc, char **argv);
int ctl_decrypt(int argc, char **argv);
int ctl_process(int argc, char **argv);
int ctl_policy_check(int argc, char **argv);
int ctl_policy_explain(int argc, char **argv);

#endif
