/* SPDX-License-Identifier: MIT */
/*
 * vc-case - cases, their timeline and links, and the artifacts collected
 * for them.  Every command is an operation of lib/ops.c; see vc-case(1).
 */
#include "cli/cli.h"

int
main(int argc, char **argv)
{
	return vc_cli_main("vc-case", argc, argv);
}
