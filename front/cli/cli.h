/* SPDX-License-Identifier: MIT */
/* cli.h - the command-line front door shared by every vc-* binary. */
#ifndef VC_CLI_H
#define VC_CLI_H
#include <stdio.h>
#include "ops/ops.h"

/* Run tool (e.g. "vc-auth") on argv; returns the exit status. */
int vc_cli_main(const char *tool, int argc, char **argv);
/* One op's SYNOPSIS line, as -h and the man page show it. */
void vc_cli_synopsis(FILE *f, const struct vc_op *op);
#endif
