/* CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) for on-flash records.
 * It detects torn and rotten records; it is not an integrity check against an
 * attacker (signatures and SHA-256 do that). */
#ifndef NOBRICK_CRC_H
#define NOBRICK_CRC_H

#include <stddef.h>
#include <stdint.h>

/* Continues a CRC: start with crc = 0; nb_crc32(0, "123456789", 9) is
 * 0xCBF43926. */
uint32_t nb_crc32(uint32_t crc, const void *buf, size_t len);

#endif
