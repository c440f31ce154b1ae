/* SPDX-License-Identifier: MIT */
/*
 * vc-notify - the event log, notifications and their rules.  Every
 * command is an operation of lib/ops/table.c; see vc-notify(1).
 */
#include "cli/cli.h"

int
main(int argc, char **argv)
{
	return vc_cli_main("vc-notify", argc, argv);
}
