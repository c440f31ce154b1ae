/* SPDX-License-Identifier: MIT */
/*
 * vc-report - reports from templates as HTML, PDF, XLSX, CSV and JSON,
 * and the templates themselves.  Every command is an operation of
 * lib/ops/table.c; see vc-report(1).
 */
#include "cli/cli.h"

int
main(int argc, char **argv)
{
	return vc_cli_main("vc-report", argc, argv);
}
