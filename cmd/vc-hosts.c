/* SPDX-License-Identifier: MIT */
/*
 * vc-hosts - the tenant's hosts: import, list, show, update, delete.
 * Every command is an operation of lib/ops.c; see vc-hosts(1).
 */
#include "cli/cli.h"

int
main(int argc, char **argv)
{
	return vc_cli_main("vc-hosts", argc, argv);
}
