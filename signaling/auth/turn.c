/*
 * turn.c - TURN REST credentials and per-continent TURN servers.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <mbedtls/md.h>
#include <re.h>
#include "turn.h"

/* ISO 3166-1 alpha-2 codes by continent, as GeoIP databases group them. */
static const struct {
	const char *continent, *countries;
} continents[] = {
	{"EU", "AD AL AT AX BA BE BG BY CH CY CZ DE DK EE ES FI FO FR GB GG GI"
	       " GR HR HU IE IM IS IT JE LI LT LU LV MC MD ME MK MT NL NO PL"
	       " PT RO RS RU SE SI SJ SK SM UA VA XK"},
	{"NA", "AG AI AW BB BL BM BQ BS BZ CA CR CU CW DM DO GD GL GP GT HN HT"
	       " JM KN KY LC MF MQ MS MX NI PA PM PR SV SX TC TT US VC VG VI"},
	{"SA", "AR BO BR CL CO EC FK GF GS GY PE PY SR UY VE"},
	{"AF", "AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM GN"
	       " GQ GW IO KE KM LR LS LY MA MG ML MR MU MW MZ NA NE NG RE RW"
	       " SC SD SH SL SN SO SS ST SZ TD TF TG TN TZ UG YT ZA ZM ZW"},
	{"AS", "AE AF AM AZ BD BH BN BT CC CN CX GE HK ID IL IN IQ IR JO JP KG"
	       " KH KP KR KW KZ LA LB LK MM MN MO MV MY NP OM PH PK PS QA SA"
	       " SG SY TH TJ TL TM TR TW UZ VN YE"},
	{"OC", "AS AU CK FJ FM GU KI MH MP NC NF NR NU NZ PF PG PN PW SB TK TO"
	       " TV UM VU WF WS"},
	{"AN", "AQ BV HM"},
};

const char *turn_continent(const char *country)
{
	char cc[3];
	if (!country || strlen(country) != 2)
		return NULL;
	cc[0] = (char)toupper((unsigned char)country[0]);
	cc[1] = (char)toupper((unsigned char)country[1]);
	cc[2] = '\0';
	if (cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z')
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(continents); i++) {
		const char *p = continents[i].countries;
		for (; *p; p += p[2] ? 3 : 2)
			if (p[0] == cc[0] && p[1] == cc[1])
				return continents[i].continent;
	}
	return NULL;
}

int turn_credentials(const struct turn_config *cfg, const char *user,
		     uint64_t now_s, char *username, char *credential)
{
	uint8_t mac[20];
	size_t clen = TURN_CREDENTIAL_MAX;
	int n;

	if (!cfg || !cfg->secret || !cfg->secret_len || !user || !*user ||
	    !username || !credential)
		return EINVAL;
	/* a ':' in the user id would end the expiry field early for no one,
	 * but keep the username one expiry and one id */
	n = re_snprintf(username, TURN_USERNAME_MAX, "%llu:%s",
			(unsigned long long)(now_s + cfg->ttl_s), user);
	if (n <= 0 || (size_t)n >= TURN_USERNAME_MAX - 1)
		return EINVAL;
	if (mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA1),
			    cfg->secret, cfg->secret_len,
			    (const uint8_t *)username, strlen(username), mac))
		return EINVAL;
	if (base64_encode(mac, sizeof(mac), credential, &clen) ||
	    clen >= TURN_CREDENTIAL_MAX)
		return EINVAL;
	credential[clen] = '\0';
	return 0;
}

static bool uri_list(const cJSON *a)
{
	const cJSON *u;
	if (!cJSON_IsArray(a))
		return false;
	cJSON_ArrayForEach(u, a)
	{
		if (!cJSON_IsString(u) ||
		    (strncmp(u->valuestring, "turn:", 5) &&
		     strncmp(u->valuestring, "turns:", 6) &&
		     strncmp(u->valuestring, "stun:", 5)))
			return false;
	}
	return true;
}

int turn_servers_check(const char *servers, char *why, size_t whysize)
{
	cJSON *j, *e;
	int err = 0;

	if (!servers || !*servers)
		return 0;
	j = cJSON_Parse(servers);
	if (cJSON_IsArray(j)) {
		if (!uri_list(j))
			err = EINVAL;
	} else if (cJSON_IsObject(j)) {
		cJSON_ArrayForEach(e, j)
		{
			if (!uri_list(e))
				err = EINVAL;
		}
	} else
		err = EINVAL;
	if (err)
		(void)re_snprintf(why, whysize,
				  "'%s' is not a JSON array of turn:, turns:"
				  " or stun: URIs, nor an object of such"
				  " arrays by continent",
				  servers);
	cJSON_Delete(j);
	return err;
}

cJSON *turn_uris(const struct turn_config *cfg, const char *continent)
{
	cJSON *j = cfg && cfg->servers ? cJSON_Parse(cfg->servers) : NULL;
	const cJSON *list = NULL;
	cJSON *out;

	if (cJSON_IsArray(j))
		list = j;
	else if (cJSON_IsObject(j)) {
		if (continent)
			list = cJSON_GetObjectItemCaseSensitive(j, continent);
		if (!list)
			list = cJSON_GetObjectItemCaseSensitive(j, "default");
	}
	out = uri_list(list) ? cJSON_Duplicate(list, 1) : cJSON_CreateArray();
	cJSON_Delete(j);
	return out;
}

cJSON *turn_ice_servers(const struct turn_config *cfg, const char *user,
			const char *continent, uint64_t now_s)
{
	cJSON *a = cJSON_CreateArray(), *uris;
	char username[TURN_USERNAME_MAX], credential[TURN_CREDENTIAL_MAX];

	if (turn_credentials(cfg, user, now_s, username, credential))
		return a;
	uris = turn_uris(cfg, continent);
	if (cJSON_GetArraySize(uris) > 0) {
		cJSON *s = cJSON_CreateObject();
		cJSON_AddItemToObject(s, "urls", uris);
		cJSON_AddStringToObject(s, "username", username);
		cJSON_AddStringToObject(s, "credential", credential);
		cJSON_AddItemToArray(a, s);
	} else
		cJSON_Delete(uris);
	return a;
}
