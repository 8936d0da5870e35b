"""Static files in production: WhiteNoise's compressed, hashed files (collectstatic), except that a
file missing from the manifest or from STATIC_ROOT (collectstatic not run yet, or a new file) is
linked by its plain name instead of turning every page, the error pages included, into a 500."""
from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFiles(CompressedManifestStaticFilesStorage):
    manifest_strict = False

    def stored_name(self, name):
        try:
            return super().stored_name(name)
        except ValueError:  # not collected: the plain name (WhiteNoise serves it once collected)
            return name
