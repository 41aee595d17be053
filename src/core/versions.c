/*
 * versions.c - versions of reencode and its libraries (see versions.h).
 *
 * libmediainfo is asked here rather than through probe: its version is a
 * global option of the library, not a property of a probed file.
 */
#include "reencode/versions.h"

#include <dlfcn.h>
#include <string.h>

#include <aom/aom_codec.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
#include <opus/opus.h>
/* MediaInfoDLL_Static.h uses size_t without including its header. */
#include <stddef.h>
#include <MediaInfoDLL/MediaInfoDLL_Static.h>

#include "version.h"

static void ffmpeg_lib(AVBPrint *bp, const char *name, unsigned run, unsigned built)
{
    av_bprintf(bp, "%s %u.%u.%u (built against %u.%u.%u)\n", name, AV_VERSION_MAJOR(run),
               AV_VERSION_MINOR(run), AV_VERSION_MICRO(run), AV_VERSION_MAJOR(built),
               AV_VERSION_MINOR(built), AV_VERSION_MICRO(built));
}

/* Skip a library's own name or a "v" before its version number:
 * "libopus 1.3.1", "MediaInfoLib - v23.04", "v3.6.0". */
static const char *number_of(const char *s)
{
    const char *p = s ? strpbrk(s, "0123456789") : NULL;

    return p ? p : "unknown";
}

void rx_versions_describe(AVBPrint *bp)
{
    const char *(*svt_version)(void) = NULL;

    av_bprintf(bp, "reencode %s\n", RX_VERSION);
    av_bprintf(bp, "FFmpeg %s\n", av_version_info());
    ffmpeg_lib(bp, "libavcodec", avcodec_version(), LIBAVCODEC_VERSION_INT);
    ffmpeg_lib(bp, "libavformat", avformat_version(), LIBAVFORMAT_VERSION_INT);
    ffmpeg_lib(bp, "libavutil", avutil_version(), LIBAVUTIL_VERSION_INT);
    ffmpeg_lib(bp, "libswscale", swscale_version(), LIBSWSCALE_VERSION_INT);
    ffmpeg_lib(bp, "libswresample", swresample_version(), LIBSWRESAMPLE_VERSION_INT);
    av_bprintf(bp, "libaom %s\n", number_of(aom_codec_version_str()));
    av_bprintf(bp, "libopus %s\n", number_of(opus_get_version_string()));
    av_bprintf(bp, "libmediainfo %s\n", number_of(MediaInfoA_Option(NULL, "Info_Version", "")));
    /* Loaded as libavcodec's dependency, so in the global scope. POSIX's way
     * to turn dlsym's void * into a function pointer without a cast. */
    *(void **)&svt_version = dlsym(RTLD_DEFAULT, "svt_av1_get_version");
    if (svt_version)
        av_bprintf(bp, "libsvtav1 %s (through libavcodec)\n", number_of(svt_version()));
    else if (avcodec_find_encoder_by_name("libsvtav1"))
        av_bprintf(bp, "libsvtav1 unknown version (inside libavcodec)\n");
    else
        av_bprintf(bp, "libsvtav1 none (libavcodec was built without it)\n");
}
