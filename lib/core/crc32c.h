/*
 * crc32c.h — CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the
 * checksum of iSCSI, ext4 metadata, LevelDB and RocksDB logs.
 *
 * pc_crc32c(crc, p, n) extends crc with n bytes at p: start with crc = 0;
 * pc_crc32c(pc_crc32c(0, a, na), b, nb) == pc_crc32c(0, a‖b, na + nb).
 * pc_crc32c(0, "123456789", 9) == 0xE3069283.
 *
 * On x86-64 it uses the SSE4.2 crc32 instruction when the CPU has it (checked
 * at run time on every call: one load, no mutable global), else a portable
 * slicing-by-8 table; both give identical results (tested).
 */
#ifndef POND_CORE_CRC32C_H
#define POND_CORE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t pc_crc32c(uint32_t crc, const void *p, size_t n);

/* The portable table path, exposed so tests can compare it with the
 * hardware path on machines that have one. */
uint32_t pc_crc32c_portable(uint32_t crc, const void *p, size_t n);

/* 1 when pc_crc32c uses a hardware instruction on this CPU. */
int pc_crc32c_hw(void);

#endif
