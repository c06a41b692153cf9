#!/bin/sh
# Writes guests.S (the guest ELFs as .incbin blobs) and guests.c (a table of
# them) into $1 for the embedded guests named in the remaining arguments.
set -eu
out=$1; shift
{
	echo '	.section .rodata'
	for g in "$@"; do
		echo "	.balign 4096"
		echo "	.global skyvm_guest_${g}_start, skyvm_guest_${g}_end"
		echo "skyvm_guest_${g}_start:"
		echo "	.incbin \"build/guest/${g}.elf\""
		echo "skyvm_guest_${g}_end:"
	done
	echo '	.section .note.GNU-stack,"",@progbits'
} > "$out/guests.S"
{
	echo '#include "guest/embedded.h"'
	for g in "$@"; do
		echo "extern const unsigned char skyvm_guest_${g}_start[], skyvm_guest_${g}_end[];"
	done
	echo 'const struct embedded_guest embedded_guests[] = {'
	for g in "$@"; do
		echo "	{ \"${g}\", skyvm_guest_${g}_start, skyvm_guest_${g}_end },"
	done
	echo '	{ 0, 0, 0 },'
	echo '};'
} > "$out/guests.c"
